"""The descriptor pool that holds the Mesos v1 schema.

A private pool keeps these descriptors apart from any other copy of the Mesos
protos an application may load into protobuf's default pool.
"""

from google.protobuf import descriptor_pool

POOL = descriptor_pool.DescriptorPool()
