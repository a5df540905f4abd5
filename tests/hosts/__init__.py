"""Several processes or hosts: `newsbot` subprocesses, crashes, failover, leases, outages."""
