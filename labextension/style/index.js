import './base.css';
import './undo.css';
import './manifest.css';
