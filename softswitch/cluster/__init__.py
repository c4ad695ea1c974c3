"""N switch nodes behind a Kamailio front door, sharing one store (ARCHITECTURE.md,
"Several nodes"): `front_door` (what the proxy in front may tell a node), `drain`
(a node leaving: 503 to probes and new calls while its calls finish), `ownership`
(which node holds each controllable live channel) and `forwarding` (a live-call
command sent to the node holding the call, signed with the cluster's secret).
"""
