"""Rollback to a checkpoint.

Request, plan (impact, risk, dependencies), record, apply (restores under leases), proof
(recount, re-fingerprint, file identity), report, queries, recommendation, and the run that ties
them together.
"""
