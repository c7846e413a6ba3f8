// Placeholder: replaced by the screen's implementation.
export default function CasePage() {
  return <h1>CasePage</h1>;
}
