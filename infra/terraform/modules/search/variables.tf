variable "name" {
  description = "Domain name (3-28 lower-case letters, digits, hyphens)."
  type        = string
}

variable "engine_version" {
  type    = string
  default = "OpenSearch_2.17"
}

variable "instance_type" {
  type = string
}

variable "master_instance_type" {
  type    = string
  default = "m6g.large.search"
}

variable "data_nodes" {
  type = number

  validation {
    condition     = var.data_nodes >= 2
    error_message = "At least two data nodes, in different zones."
  }
}

variable "volume_gib" {
  type = number
}

variable "subnet_ids" {
  type = list(string)
}

variable "security_group_id" {
  type = string
}

variable "kms_key_arn" {
  type = string
}

variable "logs_kms_key_arn" {
  type = string
}

variable "master_role_arn" {
  description = "IAM role mapped to the security plugin's all_access (the API's task role, which creates indexes)."
  type        = string
}

variable "client_role_arns" {
  type = list(string)
}

variable "opensearch_principal" {
  description = "OpenSearch Service's principal in this partition (log delivery)."
  type        = string
}
