"""Use cases: what teachers and learners can do, as plain async functions of values and ports.

Every platform adapter calls these; none of them knows a platform SDK.
"""
