"""The demo CRM.

A generated Dataverse-like source (tables, records, daily churn) that lands extracts as local
snapshots, for the demo and the tests.
"""
