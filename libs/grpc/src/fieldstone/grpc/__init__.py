"""gRPC plumbing: a server with health and interceptors, and client channels."""

from fieldstone.grpc.client import call, insecure_channel
from fieldstone.grpc.server import GrpcServer

__all__ = ["GrpcServer", "call", "insecure_channel"]
