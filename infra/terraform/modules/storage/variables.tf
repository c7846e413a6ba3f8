variable "name" {
  type = string
}

variable "kms_key_arn" {
  type = string
}

variable "retention_years" {
  description = "Object Lock COMPLIANCE default retention, in years."
  type        = number

  validation {
    condition     = var.retention_years >= 15
    error_message = "Medical images are kept at least 15 years."
  }
}

variable "access_log_bucket" {
  description = "Bucket receiving the server access logs."
  type        = string
}

variable "infrequent_access_after_days" {
  type    = number
  default = 90
}

variable "glacier_after_days" {
  type    = number
  default = 365
}
