// Placeholder: replaced by the screen's implementation.
export default function AdminPage() {
  return <h1>AdminPage</h1>;
}
