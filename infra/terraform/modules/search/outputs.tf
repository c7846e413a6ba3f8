output "endpoint" {
  value = aws_opensearch_domain.this.endpoint
}

output "domain_name" {
  value = aws_opensearch_domain.this.domain_name
}
