variable "name" {
  type = string
}

variable "vpc_id" {
  type = string
}

variable "api_port" {
  type    = number
  default = 8000
}

variable "live_control_port" {
  description = "YILIAN_LIVE_PORT: the live process's signalling WebSocket and control API (API only)."
  type        = number
  default     = 8089
}

variable "live_udp_ports" {
  description = "The live hosts pin net.ipv4.ip_local_port_range to this range (aioice takes ephemeral ports)."
  type        = object({ from = number, to = number })
  default     = { from = 40000, to = 49999 }
}

variable "turn_relay_ports" {
  description = "coturn's min-port/max-port."
  type        = object({ from = number, to = number })
  default     = { from = 50000, to = 59999 }
}

variable "temporal_self_hosted" {
  type = bool
}
