variable "name" {
  type = string
}

variable "vpc_id" {
  type = string
}

variable "public_subnet_ids" {
  type = list(string)
}

variable "security_group_id" {
  type = string
}

variable "certificate_arn" {
  type = string
}

variable "api_port" {
  type    = number
  default = 8000
}

variable "log_bucket" {
  type = string
}

variable "logs_kms_key_arn" {
  type = string
}

variable "rate_limit_per_5min" {
  type    = number
  default = 20000
}
