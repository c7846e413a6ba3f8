output "ids" {
  description = "Security group id per role."
  value       = { for k, g in aws_security_group.this : k => g.id }
}

output "ingress" {
  description = "Every ingress rule of the region (as configured), for the world-exposure check."
  value = {
    for k, r in aws_vpc_security_group_ingress_rule.this : k => {
      group    = local.ingress[k].group
      protocol = r.ip_protocol
      from     = r.from_port
      to       = r.to_port
      cidr     = r.cidr_ipv4
      cidr6    = r.cidr_ipv6
    }
  }
}

output "live_udp_ports" {
  value = var.live_udp_ports
}

output "turn_relay_ports" {
  value = var.turn_relay_ports
}
