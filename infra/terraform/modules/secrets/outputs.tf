output "env" {
  description = "Environment variable name => secret ARN, for ECS `secrets`."
  value = {
    for k, env in merge(local.generated, local.operator_set) : env => aws_secretsmanager_secret.this[k].arn
  }
}

output "arns" {
  value = [for s in aws_secretsmanager_secret.this : s.arn]
}

output "turn_secret_arn" {
  value = aws_secretsmanager_secret.this["turn"].arn
}

output "live_secret_arn" {
  value = aws_secretsmanager_secret.this["live"].arn
}
