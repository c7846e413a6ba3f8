output "endpoint" {
  value = aws_rds_cluster.this.endpoint
}

output "reader_endpoint" {
  value = aws_rds_cluster.this.reader_endpoint
}

output "cluster_identifier" {
  value = aws_rds_cluster.this.id
}

output "master_user_secret_arn" {
  description = "Secrets Manager secret RDS keeps (and rotates) for the admin user."
  value       = aws_rds_cluster.this.master_user_secret[0].secret_arn
}
