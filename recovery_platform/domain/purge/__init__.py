"""The purge pipeline.

Record a source purge (PrePurge checkpoint first) so that the next sync classifies the vanished
records as purged, not deleted.
"""
