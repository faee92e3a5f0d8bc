/** The message box: Enter sends, Shift+Enter starts a new line; Stop while a reply runs. */
import { useState, type KeyboardEvent } from "react";

interface ComposerProps {
  busy: boolean;
  onSend: (text: string) => void;
  onStop: () => void;
}

/** Take the user's next message. */
export function Composer({ busy, onSend, onStop }: ComposerProps) {
  const [text, setText] = useState("");

  function send() {
    if (busy || !text.trim()) return;
    onSend(text);
    setText("");
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    // An IME composition's Enter picks a candidate; it does not send.
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      send();
    }
  }

  return (
    <div className="composer">
      <textarea
        aria-label="Message"
        placeholder="Message (Enter sends, Shift+Enter for a new line)"
        rows={2}
        value={text}
        onChange={(event) => {
          setText(event.target.value);
        }}
        onKeyDown={onKeyDown}
      />
      {busy ? (
        <button type="button" className="stop" onClick={onStop}>
          Stop
        </button>
      ) : (
        <button type="button" className="send" onClick={send} disabled={!text.trim()}>
          Send
        </button>
      )}
    </div>
  );
}
