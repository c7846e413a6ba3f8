variable "name" {
  type = string
}

variable "region" {
  type = string
}

variable "partition" {
  type = string
}

variable "account_id" {
  type = string
}

variable "vpc_id" {
  type = string
}

variable "subnet_ids" {
  type = list(string)
}

variable "security_group_ids" {
  type = map(string)
}

variable "ecs_tasks_principal" {
  type = string
}

variable "yilian_image" {
  type = string
}

variable "temporal_image" {
  type = string
}

variable "api_port" {
  type    = number
  default = 8000
}

variable "api_replicas" {
  type = number
}

variable "worker_replicas" {
  type = number
}

variable "api_target_group_arn" {
  type = string
}

variable "environment_vars" {
  description = "Extra plain settings for api and worker (YILIAN_*)."
  type        = map(string)
  default     = {}
}

variable "secret_env" {
  description = "Environment variable => Secrets Manager ARN."
  type        = map(string)
}

variable "secret_kms_key_arns" {
  type = list(string)
}

variable "images_bucket" {
  type = string
}

variable "images_bucket_arn" {
  type = string
}

variable "images_kms_key_arn" {
  type = string
}

variable "search_endpoint" {
  type = string
}

variable "search_domain" {
  type = string
}

variable "live_urls" {
  type = list(string)
}

variable "turn_urls" {
  type = list(string)
}

variable "logs_kms_key_arn" {
  type = string
}

variable "temporal_self_hosted" {
  type = bool
}

variable "temporal_address" {
  type = string
}

variable "temporal_namespace" {
  type = string
}

variable "temporal_history_shards" {
  type = number
}

variable "temporal_history_tasks" {
  type    = number
  default = 3
}

variable "temporal_db_endpoint" {
  type    = string
  default = ""
}

variable "temporal_db_secret_arn" {
  type    = string
  default = ""
}
