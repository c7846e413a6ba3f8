terraform {
  # 1.7 brought mock_provider to `terraform test`; the checks in tests/ rely on it.
  required_version = ">= 1.7.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }
}
