import './base.css';
import './undo.css';
