"""Notifications: one Notifier port; the in-app inbox and signed webhooks are the working channels."""
