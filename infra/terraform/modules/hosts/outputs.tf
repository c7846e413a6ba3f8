output "live_urls" {
  description = "Control URLs of every live process, for the API's YILIAN_LIVE_URLS (private addresses)."
  value = flatten([
    for k, h in aws_instance.this : [
      for p in local.live_ports : "http://${h.private_ip}:${p}"
    ] if local.hosts[k].kind == "live"
  ])
}

output "public_ips" {
  value = { for k, e in aws_eip.this : k => e.public_ip }
}

output "root_volumes_encrypted" {
  value = alltrue([for i in aws_instance.this : i.root_block_device[0].encrypted])
}
