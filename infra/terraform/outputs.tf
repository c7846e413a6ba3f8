output "partition" {
  value = local.partition
}

output "alb_dns_name" {
  description = "Point domain_name (CNAME) here."
  value       = module.edge.alb_dns_name
}

output "public_ips" {
  description = "Live media and coturn hosts; turn.<domain> resolves to the turn-* ones."
  value       = module.hosts.public_ips
}

output "images_bucket" {
  value = module.storage.bucket
}

output "database_endpoint" {
  value = module.database.endpoint
}

output "search_endpoint" {
  value = module.search.endpoint
}

output "temporal_address" {
  value = local.temporal_addr
}

output "world_open" {
  description = "Every ingress rule open to any address: key => protocol/from-to."
  value = {
    for k, r in module.security.ingress : k => "${r.protocol}/${r.from}-${r.to}"
    if r.cidr == "0.0.0.0/0" || r.cidr6 == "::/0"
  }
}

output "alarm_topic_arn" {
  value = module.alarms.topic_arn
}
