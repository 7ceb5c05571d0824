"""`champion demo`: the walkthrough (walkthrough), the loopback server standing in for production
monitoring (metrics_server) and the embedded example project it runs (project/)."""
