"""Running the platform as several machines would: PostgreSQL, a Ray cluster, N platform nodes and HAProxy.

`python -m deploy.cluster start` builds that on one machine, on loopback only (`make cluster`); the tests
of tests/cluster/ run against the same cluster, and the README explains the layout on real machines.
"""
