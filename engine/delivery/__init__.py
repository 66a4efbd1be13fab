"""Delivery: SLA events fanned out into outbox rows, the worker that sends them, the channels and the in-app notifications."""
