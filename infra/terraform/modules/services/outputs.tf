output "cluster_name" {
  value = aws_ecs_cluster.this.name
}

output "task_role_arns" {
  value = { for k, r in aws_iam_role.task : k => r.arn }
}

output "temporal_frontend" {
  value = var.temporal_self_hosted ? "temporal-frontend.${var.name}.yilian.internal:7233" : null
}
