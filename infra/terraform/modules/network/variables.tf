variable "name" {
  type = string
}

variable "region" {
  type = string
}

variable "cidr" {
  type = string
}

variable "availability_zones" {
  type = list(string)
}

variable "kms_key_arn" {
  description = "Key of the flow-log group."
  type        = string
}

variable "service_principals" {
  description = "Service principal names in this partition (they end in .amazonaws.com.cn in aws-cn)."
  type        = map(string)
}
