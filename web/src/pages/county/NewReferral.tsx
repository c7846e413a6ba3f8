// Placeholder: replaced by the screen's implementation.
export default function NewReferral() {
  return <h1>NewReferral</h1>;
}
