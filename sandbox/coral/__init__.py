"""Coral sandbox: namespace hosts on a private bridge, real WireGuard (wireguard-go), stand-in
discovery/colony/agents."""
