output "alb_arn_suffix" {
  value = aws_lb.this.arn_suffix
}

output "alb_dns_name" {
  value = aws_lb.this.dns_name
}

output "target_group_arn" {
  value = aws_lb_target_group.api.arn
}

output "target_group_arn_suffix" {
  value = aws_lb_target_group.api.arn_suffix
}

output "listener_ports" {
  value = [aws_lb_listener.https.port]
}

output "web_acl_name" {
  value = aws_wafv2_web_acl.this.name
}
