"""Alerts that reach people: kinds and severities, messages, notifiers and delivery."""
