output "key_arns" {
  description = "Key ARN per purpose (images, database, search, ops)."
  value       = { for k, v in aws_kms_key.this : k => v.arn }
}
