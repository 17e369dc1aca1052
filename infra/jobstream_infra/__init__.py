"""Settings, NATS connection and provisioning, the embedded nats-server and logging."""
