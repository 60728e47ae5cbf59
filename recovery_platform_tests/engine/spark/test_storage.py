"""The lakehouse's storage configuration, translated into the Spark session's Hadoop settings."""

from __future__ import annotations

import pytest
from dagster_deltalake import AzureConfig, GcsConfig, LocalConfig, S3Config

from recovery_platform.engine.spark.storage import storage_session_conf


def test_local_storage_needs_no_settings() -> None:
    assert storage_session_conf(LocalConfig().str_dict()) == {}
    assert storage_session_conf({}) == {}


def test_s3_keys_region_endpoint_and_session_token() -> None:
    options = S3Config(
        access_key_id="AKIA",
        secret_access_key="secret",
        token="session",
        region="eu-west-1",
        endpoint="http://minio:9000",
        virtual_hosted_style_request="false",
    ).str_dict()
    assert storage_session_conf(options) == {
        "fs.s3a.access.key": "AKIA",
        "fs.s3a.secret.key": "secret",
        "fs.s3a.session.token": "session",
        "fs.s3a.aws.credentials.provider": (
            "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider"
        ),
        "fs.s3a.endpoint.region": "eu-west-1",
        "fs.s3a.endpoint": "http://minio:9000",
        "fs.s3a.path.style.access": "true",
    }


def test_azure_account_key_and_service_principal() -> None:
    host = "lakeacct.dfs.core.windows.net"
    keyed = storage_session_conf(AzureConfig(account_name="lakeacct", account_key="k").str_dict())
    assert keyed == {f"fs.azure.account.key.{host}": "k"}
    principal = storage_session_conf(
        AzureConfig(
            account_name="lakeacct", client_id="app", client_secret="pw", tenant_id="t1"
        ).str_dict()
    )
    assert principal[f"fs.azure.account.auth.type.{host}"] == "OAuth"
    assert principal[f"fs.azure.account.oauth2.client.id.{host}"] == "app"
    assert principal[f"fs.azure.account.oauth2.client.secret.{host}"] == "pw"
    assert principal[f"fs.azure.account.oauth2.client.endpoint.{host}"] == (
        "https://login.microsoftonline.com/t1/oauth2/token"
    )


def test_gcs_service_account_file() -> None:
    conf = storage_session_conf(GcsConfig(service_account="/secrets/sa.json").str_dict())
    assert conf["google.cloud.auth.service.account.json.keyfile"] == "/secrets/sa.json"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (AzureConfig(account_name="lakeacct", use_azure_cli=True).str_dict(), "use_azure_cli"),
        ({"provider": "azure", "account_key": "k"}, "account_name"),
        (AzureConfig(account_name="Bad.Name; x", account_key="k").str_dict(), "account_name"),
        (AzureConfig(account_name="lakeacct", client_id="app").str_dict(), "client_secret"),
        (GcsConfig(service_account_key="{...}").str_dict(), "service_account_key"),
        ({"provider": "ftp"}, "ftp"),
    ],
)
def test_what_spark_cannot_honour_is_refused_by_name(
    options: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        storage_session_conf(options)
