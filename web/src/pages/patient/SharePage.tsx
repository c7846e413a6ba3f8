// Placeholder: replaced by the screen's implementation.
export default function SharePage() {
  return <h1>SharePage</h1>;
}
