// Placeholder: replaced by the screen's implementation.
export default function MyCases() {
  return <h1>MyCases</h1>;
}
