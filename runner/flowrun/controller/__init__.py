"""The flowctl control plane: registry, heartbeats, discovery, backpressure, policy.

    from flowrun.controller.server import Controller

    controller = Controller(loaded.body.policy(), listen="127.0.0.1:0")
    address = await controller.start()

The policy it enforces is `flowctl.contract.Policy`. This package's `__init__` imports
nothing, so that reading `flowrun.controller.views` or `.backpressure` costs no grpc.
"""
