variable "name" {
  type = string
}

variable "s3_logging_principal" {
  type = string
}

variable "log_days" {
  description = "Access logs are kept this long (the security-audit rules ask at least 180 days)."
  type        = number
  default     = 400
}
