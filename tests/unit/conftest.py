"""Fixtures of the unit tier: fakes at the process, gRPC and Flight boundary; no subprocess,
no pipeline. Helpers of the supervision fakes live in tests/fixtures/supervision_fakes.py;
`anyio_backend` is in tests/conftest.py, shared by every tier."""
