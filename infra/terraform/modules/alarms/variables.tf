variable "name" {
  type = string
}

variable "account_id" {
  type = string
}

variable "kms_key_arn" {
  type = string
}

variable "email" {
  type    = string
  default = ""
}

variable "alb_arn_suffix" {
  type = string
}

variable "target_group_arn_suffix" {
  type = string
}

variable "db_clusters" {
  description = "name => Aurora cluster identifier."
  type        = map(string)
}

variable "search_domain" {
  type = string
}

variable "app_namespace" {
  type    = string
  default = "Yilian"
}

variable "sla_at_risk_threshold" {
  type    = number
  default = 10
}

variable "queue_backlog_threshold" {
  type    = number
  default = 500
}
