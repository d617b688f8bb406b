"""Kubernetes manifests of a pipeline: `flowrun export SPEC --target kubernetes`.

`manifests.build_objects` is the entry point (and what `flowrun up --driver kubernetes`
applies); the other modules each build one kind of object: `spec_config` (the ConfigMap of
the rendered spec), `controller` (its Deployment and Service), `workloads` (a Deployment,
Service and output volume per component, with `environment` and `restart_hash`) and
`network` (the NetworkPolicies). `names` holds what they share.
"""
