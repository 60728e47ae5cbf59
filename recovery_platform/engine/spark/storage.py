"""Lakehouse storage credentials as Spark session settings, from the same options as delta-rs.

Storage is described once (dagster-deltalake's `S3Config`, `AzureConfig`, `GcsConfig`, with
secrets from `dg.EnvVar`), and its `str_dict()` reaches both engines. delta-rs takes those
options as they are; Spark reads storage through Hadoop file systems, whose settings are named
differently. Hadoop settings set on a session (`spark.conf.set("fs.s3a.access.key", ...)`) are
copied into the Hadoop configuration of every read and write of that session, Delta's log
included, so the credentials never have to be static cluster settings or appear in code.

A field Spark has no equivalent for is refused rather than silently dropped: a credential that
works on delta-rs and is ignored on Spark would fail later, far from its cause.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

__all__ = ["storage_session_conf"]

_IGNORED = {
    "provider",
    "bucket",
    "container_name",
    "imdsv1_fallback",
    "unsigned_payload",
    "checksum",
    "copy_if_not_exists",
    "allow_unsafe_rename",
}
"""Fields that name the location or tune delta-rs's own object-store client only."""

_AZURE_ACCOUNT = re.compile(r"[a-z0-9]{3,24}")
_S3_CREDENTIALS = "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider"
_AZURE_OAUTH = "org.apache.hadoop.fs.azurebfs.oauth2.ClientCredsTokenProvider"


def _s3(options: Mapping[str, str]) -> dict[str, str]:
    """S3A settings (hadoop-aws): keys, session token, endpoint and region."""
    conf = {}
    names = {
        "access_key_id": "fs.s3a.access.key",
        "secret_access_key": "fs.s3a.secret.key",
        "token": "fs.s3a.session.token",
        "endpoint": "fs.s3a.endpoint",
        "region": "fs.s3a.endpoint.region",
    }
    for field, setting in names.items():
        if field in options:
            conf[setting] = options[field]
    if "token" in options:
        conf["fs.s3a.aws.credentials.provider"] = _S3_CREDENTIALS
    if "virtual_hosted_style_request" in options:
        virtual = options["virtual_hosted_style_request"].lower() == "true"
        conf["fs.s3a.path.style.access"] = "false" if virtual else "true"
    return conf


def _azure(options: Mapping[str, str]) -> dict[str, str]:
    """ABFS settings (hadoop-azure) for one storage account: key, SAS or service principal."""
    account = options.get("account_name", "")
    if not _AZURE_ACCOUNT.fullmatch(account):
        raise ValueError(
            "storage: AzureConfig needs account_name (3-24 lower-case letters and digits) for "
            "the Spark engine's per-account settings"
        )
    host = f"{account}.dfs.core.windows.net"
    conf = {}
    if "account_key" in options:
        conf[f"fs.azure.account.key.{host}"] = options["account_key"]
    if "sas_key" in options:
        conf[f"fs.azure.account.auth.type.{host}"] = "SAS"
        conf[f"fs.azure.sas.fixed.token.{host}"] = options["sas_key"]
    principal = ("client_id", "client_secret", "tenant_id")
    if any(field in options for field in principal):
        missing = [field for field in principal if field not in options]
        if missing:
            raise ValueError(f"storage: AzureConfig {', '.join(missing)} missing for OAuth")
        conf.update(
            {
                f"fs.azure.account.auth.type.{host}": "OAuth",
                f"fs.azure.account.oauth.provider.type.{host}": _AZURE_OAUTH,
                f"fs.azure.account.oauth2.client.id.{host}": options["client_id"],
                f"fs.azure.account.oauth2.client.secret.{host}": options["client_secret"],
                f"fs.azure.account.oauth2.client.endpoint.{host}": (
                    f"https://login.microsoftonline.com/{options['tenant_id']}/oauth2/token"
                ),
            }
        )
    return conf


def _gcs(options: Mapping[str, str]) -> dict[str, str]:
    """GCS connector settings: a service-account key file."""
    path = options.get("service_account") or options.get("application_credentials")
    if path is None:
        return {}
    return {
        "google.cloud.auth.type": "SERVICE_ACCOUNT_JSON_KEYFILE",
        "google.cloud.auth.service.account.json.keyfile": path,
    }


_PROVIDERS: dict[str, tuple[Callable[[Mapping[str, str]], dict[str, str]], frozenset[str]]] = {
    "local": (lambda _: {}, frozenset()),
    "s3": (
        _s3,
        frozenset(
            {"access_key_id", "secret_access_key", "token", "endpoint", "region",
             "virtual_hosted_style_request"}
        ),
    ),
    "azure": (
        _azure,
        frozenset(
            {"account_name", "account_key", "sas_key", "client_id", "client_secret", "tenant_id"}
        ),
    ),
    "gcs": (_gcs, frozenset({"service_account", "application_credentials"})),
}


def storage_session_conf(storage_options: Mapping[str, str]) -> dict[str, str]:
    """Hadoop session settings for the storage described by dagster-deltalake's options.

    Args:
        storage_options: a storage configuration's `str_dict()`, `provider` included (no
            `provider` means a local lakehouse).

    Raises:
        ValueError: a field that has no Spark equivalent, or an incomplete credential.
    """
    provider = storage_options.get("provider", "local")
    if provider not in _PROVIDERS:
        raise ValueError(f"storage: provider {provider!r} is not supported on the Spark engine")
    build, mapped = _PROVIDERS[provider]
    unmapped = sorted(set(storage_options) - mapped - _IGNORED)
    if unmapped:
        raise ValueError(
            f"storage: {', '.join(unmapped)} of the {provider} configuration has no Spark "
            "equivalent; set it on the Spark cluster instead (its Hadoop file-system settings)"
        )
    return build(storage_options)
