#!/usr/bin/env bash
# Regenerate the Python gRPC code from telemetry_edge.proto (needs the test extra: grpcio-tools).
set -euo pipefail
cd "$(dirname "$0")"
../../../.venv/bin/python -m grpc_tools.protoc -I. --python_out=. --grpc_python_out=. telemetry_edge.proto
sed -i 's/^import telemetry_edge_pb2 as/from . import telemetry_edge_pb2 as/' telemetry_edge_pb2_grpc.py
