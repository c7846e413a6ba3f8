# Every security group of the region and every ingress rule, in one table, so that what is open to the world can
# be read (and is checked, tests/region.tftest.hcl) in one place. Only three things face the internet:
#   the ALB on 443/tcp (web app, API, DICOMweb, signalling WebSockets);
#   the live media hosts on their ICE UDP range (browsers send media straight to them);
#   coturn on 443/tcp (TURN over TLS for hospitals whose firewalls allow only 443 out), 3478/udp+tcp and its
#   relay UDP range.
locals {
  world = "0.0.0.0/0"

  groups = {
    alb      = "Internet-facing load balancer"
    api      = "API tasks"
    worker   = "Temporal worker tasks"
    temporal = "Temporal service tasks"
    live     = "Live media hosts (yilian live)"
    turn     = "coturn hosts"
    db       = "Aurora PostgreSQL (application)"
    tdb      = "Aurora PostgreSQL (Temporal)"
    search   = "OpenSearch domain"
  }

  # key => group, protocol, ports, and either a CIDR or a source group.
  ingress = merge(
    {
      alb_https        = { group = "alb", protocol = "tcp", from = 443, to = 443, cidr = local.world, source = null }
      api_from_alb     = { group = "api", protocol = "tcp", from = var.api_port, to = var.api_port, cidr = null, source = "alb" }
      db_from_api      = { group = "db", protocol = "tcp", from = 5432, to = 5432, cidr = null, source = "api" }
      db_from_worker   = { group = "db", protocol = "tcp", from = 5432, to = 5432, cidr = null, source = "worker" }
      search_from_api  = { group = "search", protocol = "tcp", from = 443, to = 443, cidr = null, source = "api" }
      search_from_work = { group = "search", protocol = "tcp", from = 443, to = 443, cidr = null, source = "worker" }
      live_ctl_api     = { group = "live", protocol = "tcp", from = var.live_control_port, to = var.live_control_port + 15, cidr = null, source = "api" }
      live_media       = { group = "live", protocol = "udp", from = var.live_udp_ports.from, to = var.live_udp_ports.to, cidr = local.world, source = null }
      live_from_turn   = { group = "live", protocol = "udp", from = 1024, to = 65535, cidr = null, source = "turn" }
      turn_tls         = { group = "turn", protocol = "tcp", from = 443, to = 443, cidr = local.world, source = null }
      turn_udp         = { group = "turn", protocol = "udp", from = 3478, to = 3478, cidr = local.world, source = null }
      turn_tcp         = { group = "turn", protocol = "tcp", from = 3478, to = 3478, cidr = local.world, source = null }
      turn_relay       = { group = "turn", protocol = "udp", from = var.turn_relay_ports.from, to = var.turn_relay_ports.to, cidr = local.world, source = null }
    },
    var.temporal_self_hosted ? {
      temporal_from_api    = { group = "temporal", protocol = "tcp", from = 7233, to = 7233, cidr = null, source = "api" }
      temporal_from_worker = { group = "temporal", protocol = "tcp", from = 7233, to = 7233, cidr = null, source = "worker" }
      # The Temporal roles (frontend, history, matching, internal worker) talk to each other on 6933-6939 and 7233-7239.
      temporal_membership = { group = "temporal", protocol = "tcp", from = 6933, to = 7239, cidr = null, source = "temporal" }
      tdb_from_temporal   = { group = "tdb", protocol = "tcp", from = 5432, to = 5432, cidr = null, source = "temporal" }
    } : {}
  )
}

resource "aws_security_group" "this" {
  #checkov:skip=CKV2_AWS_5:Every group is attached, in the module of what it guards (edge, services, hosts, postgres, search): this module only defines them so that all ingress is in one table.
  for_each    = local.groups
  name_prefix = "${var.name}-${each.key}-"
  description = each.value
  vpc_id      = var.vpc_id

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "this" {
  for_each                     = local.ingress
  description                  = each.key
  security_group_id            = aws_security_group.this[each.value.group].id
  ip_protocol                  = each.value.protocol
  from_port                    = each.value.from
  to_port                      = each.value.to
  cidr_ipv4                    = each.value.cidr
  referenced_security_group_id = each.value.source == null ? null : aws_security_group.this[each.value.source].id
}

# Out: the tiers that talk out (ALB to tasks, tasks to AWS APIs through NAT, media and TURN to browsers) may;
# the data tier may not.
resource "aws_vpc_security_group_egress_rule" "this" {
  for_each          = toset(["alb", "api", "worker", "temporal", "live", "turn"])
  description       = "${each.key} out"
  security_group_id = aws_security_group.this[each.key].id
  ip_protocol       = "-1"
  cidr_ipv4         = local.world
}
