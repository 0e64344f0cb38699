"""The object-store adapter (any S3-compatible store; MinIO locally)."""

from fieldstone.blob.store import BlobStore, ObjectChanged, ObjectInfo

__all__ = ["BlobStore", "ObjectChanged", "ObjectInfo"]
