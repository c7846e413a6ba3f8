// Placeholder: replaced by the screen's implementation.
export default function Worklist() {
  return <h1>Worklist</h1>;
}
