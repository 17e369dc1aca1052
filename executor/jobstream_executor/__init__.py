"""Runs processes from JetStream submissions and reports them as job events."""
