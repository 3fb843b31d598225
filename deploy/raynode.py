"""`python -m deploy.raynode start …`: Ray's own `ray start`, kept on loopback for the one-machine cluster.

Ray treats 127.0.0.1 as "this machine" and replaces it with the address the machine would use to reach
the internet, so a cluster started on loopback would listen on (and send to) the machine's public
interface. Here every Ray process of the test cluster (and the platform nodes, through the same
environment variable) takes 127.0.0.1 as the node's address instead; Ray's servers then listen on
loopback only. On real machines run `ray start` itself with the machine's private address.
"""

from __future__ import annotations

import os
import sys

LOOPBACK = "127.0.0.1"
LOOPBACK_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
"""What makes Ray's child processes and drivers take 127.0.0.1 as this node's address."""


def main() -> int:
    os.environ.update(LOOPBACK_ENV)
    import ray._private.ray_constants as constants
    import ray._private.services as services
    from ray.scripts.scripts import main as ray_main

    # the switch above also refuses to add worker nodes (a guard for laptops): lift it in this process only,
    # and answer "127.0.0.1" wherever the launcher asks for this node's address
    constants.ENABLE_RAY_CLUSTER = True
    services.get_node_ip_address = lambda address=None: LOOPBACK
    sys.argv = ["ray", *sys.argv[1:]]
    ray_main()  # type: ignore[no-untyped-call]
    return 0


if __name__ == "__main__":
    sys.exit(main())
