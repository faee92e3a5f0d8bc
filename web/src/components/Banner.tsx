/** The one-line error banner. */

interface BannerProps {
  line: string | null;
  onDismiss: () => void;
}

/** Show `line`, if any, with a button that hides it. */
export function Banner({ line, onDismiss }: BannerProps) {
  if (!line) return null;
  return (
    <div className="banner" role="alert" data-testid="banner">
      <span className="banner-line">{line}</span>
      <button type="button" className="banner-close" aria-label="Dismiss" onClick={onDismiss}>
        ×
      </button>
    </div>
  );
}
