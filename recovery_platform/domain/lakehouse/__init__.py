"""Shared lakehouse plumbing every capability builds on.

The declared tables (`table_config`), where tables live (`location`), the metadata tables'
schemas, store and versioned migrations (`migration_steps`, `migrations`), the audit trail and
its fixed vocabulary, per-table leases, running many tables at once (`parallelism`), the
`PipelineConfig` mirror, operator-facing errors and the named crash points tests use. Nothing
here knows about sync, checkpoints, purge or rollback.
"""
